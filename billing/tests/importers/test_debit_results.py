"""The bank's answer to our debit batches: pain.002 (every real sample) and the CSV layout."""

import pytest

from billing.importers import map_reason, parse, parse_debit_result_csv, parse_pain002
from billing.importers.base import UnreadableFile

from .helpers import D, fixture, sample

EXPECTED = [
    # 2 OrgnlPmtInfAndSts x 2 TxInfAndSts, all RJCT, each OrgnlTxRef InstdAmt EUR 100 -> 4 failed,
    # 400.00 (= OrgnlCtrlSum 400).
    ("oca_test-sepa-pain002-unpaid_AC01_MS02_MD06_AM04.xml", {"paid": 0, "failed": 4},
     {"paid": {}, "failed": {"EUR": D("400.00")}}),
    # 1 TxInfAndSts RJCT AC01, EUR 6543.14.
    ("sepaking_pain.002.002.03_sdd_AC01.xml", {"paid": 0, "failed": 1}, {"paid": {}, "failed": {"EUR": D("6543.14")}}),
    # 2 TxInfAndSts RJCT (no amounts: no OrgnlTxRef) + the PmtInf RJCT that does not say how many
    # transactions it had: 1 result for "every other debit of that PmtInf" = 3.
    ("nordea_pain002.001.03_txn_reject_NARR.xml", {"paid": 0, "failed": 3}, {"paid": {}, "failed": {}}),
    # No TxInfAndSts, PmtInfSts RJCT: 1 result for the whole PmtInf.
    ("nordea_pain002.001.03_pmtinf_reject_NARR.xml", {"paid": 0, "failed": 1}, {"paid": {}, "failed": {}}),
    # 3 TxInfAndSts RJCT; the PmtInf (RJCT, OrgnlNbOfTxs 3) lists all 3: no PmtInf-level result.
    ("crossriver_pain002.001.03_txn_rejected_badXmlns.xml", {"paid": 0, "failed": 3}, {"paid": {}, "failed": {}}),
]


@pytest.mark.parametrize(("name", "counts", "totals"), EXPECTED, ids=[e[0] for e in EXPECTED])
def test_pain002_sample_results_and_totals(name, counts, totals):
    parsed = parse_pain002(sample(f"pain002/{name}"))

    assert parsed.errors == []
    assert parsed.counts() == counts
    assert parsed.totals() == totals


def test_pain002_reason_codes_are_mapped():
    parsed = parse_pain002(sample("pain002/oca_test-sepa-pain002-unpaid_AC01_MS02_MD06_AM04.xml"))

    assert [(r.line, r.end_to_end_id, r.reason_code, r.reason) for r in parsed.results] == [
        (1, "E2EID1", "AC01", "invalid_account"),
        (2, "E2EID2", "MS02", "other"),
        (3, "E2EID3", "MD06", "other"),
        (4, "E2EID4", "AM04", "insufficient_funds"),
    ]
    first = parsed.results[0]
    assert first.reason_text == "ACC NUMBER INVALID"  # the bank's AddtlInf
    assert (first.amount, first.currency, first.payment_info_id) == (D("100.00"), "EUR", "PMTINFID1")
    assert first.raw["mandate_id"] == "MANDATEID1"
    assert parsed.declared["original_message_name"] == "PAIN.008.001.02"  # upper case, as written
    assert parsed.declared["original_control_sum"] == D("400.00")


def test_pain002_whole_payment_information_rejected():
    parsed = parse_pain002(sample("pain002/nordea_pain002.001.03_pmtinf_reject_NARR.xml"))

    (result,) = parsed.results
    assert result.scope == "payment_info" and result.end_to_end_id == ""
    assert result.payment_info_id == "PMTINFID-COM-SCE25-1707-01"
    assert (result.status, result.reason_code, result.reason) == ("failed", "NARR", "other")
    assert result.reason_text == "CAP Invalid code or combinations in CategoryPurpose or ServiceLevel"


def test_pain002_without_namespace_and_with_cdata():
    parsed = parse("pain002", sample("pain002/crossriver_pain002.001.03_txn_rejected_badXmlns.xml"))

    assert [r.end_to_end_id for r in parsed.results] == ["sanity-10-1-12-1-21", "example01234567", "example012345678"]
    assert parsed.results[2].reason_text == "Instruction ID example012345678 already exist"
    assert parsed.declared["original_control_sum"] == D("5.04")  # `5.0400`
    assert parsed.declared["group_status"] == "ACTC"  # accepted as a group, rejected transaction by transaction


def test_pain002_sdd_rejection_amount():
    (result,) = parse_pain002(sample("pain002/sepaking_pain.002.002.03_sdd_AC01.xml")).results

    assert (result.end_to_end_id, result.amount, result.reason) == ("OriginatorID1234", D("6543.14"), "invalid_account")
    assert result.reason_text == "Incorrect account number"  # no AddtlInf: the ISO name of AC01


def test_pain002_nordea_transactions():
    parsed = parse_pain002(sample("pain002/nordea_pain002.001.03_txn_reject_NARR.xml"))

    assert [(r.scope, r.end_to_end_id) for r in parsed.results] == [
        ("transaction", "ENDTOENDID-950-TEST2-2807-02"), ("transaction", "ENDTOENDID-950-TEST2-2807-01"),
        ("payment_info", "")]


@pytest.mark.parametrize("name", ["sepaking_pain.008.003.02.xml", "sepaking_pain.008.001.02.xml",
                                  "phpsepaxml_pain.008.001.08.xml"])
def test_pain008_samples_are_what_we_send_not_a_result(name):
    # pain.008 is our own debit batch (2, 2 and 1 transactions): handed in as a result or a
    # statement by mistake, it is refused as a whole, never half-read.
    data = sample(f"pain008/{name}")

    with pytest.raises(UnreadableFile, match="not a pain.002 payment status report: the document holds CstmrDrctDbtInitn"):
        parse_pain002(data)
    with pytest.raises(UnreadableFile, match="not a camt.053/054"):
        parse("camt053", data)


def test_debit_result_csv():
    # Our fixture (GBK): 2 preamble lines, header on line 3, rows on lines 4-13.
    # 4 成功 300.00 (paid); 5-11 失败: 1200 + 300 + 150 + 220 + 300 + 300 + 300 = 2770.00 (7 failed);
    # 12 失败 with amount `三百元` (an error); 13 处理中 (not final: a warning).
    parsed = parse_debit_result_csv(fixture("debit_result_gbk.csv"))

    assert parsed.counts() == {"paid": 1, "failed": 7}
    assert parsed.totals() == {"paid": {"CNY": D("300.00")}, "failed": {"CNY": D("2770.00")}}
    assert [(e.line, e.reason) for e in parsed.errors] == [(12, "金额: not an amount: '三百元'")]
    assert [w.line for w in parsed.warnings] == [13]
    assert [(r.line, r.reason, r.reason_text) for r in parsed.results if r.status == "failed"] == [
        (5, "insufficient_funds", "余额不足"),
        (6, "account_frozen", "账户冻结"),
        (7, "account_closed", "账户已销户"),
        (8, "name_mismatch", "户名不符"),
        (9, "invalid_account", "帐号不存在"),
        (10, "invalid_account", "卡号无效"),
        (11, "other", "交易超限"),
    ]
    paid = parsed.results[0]
    assert (paid.end_to_end_id, paid.status, paid.reason) == ("DB20261125001-0001", "paid", "")
    assert paid.raw["policy_no"] == "8860000000000001"


def test_debit_result_csv_with_a_bank_layout_mapping_and_codes():
    data = ("\ufeffBatchLineId,Amt,Outcome,ErrCode,ErrText\n"
            "L1,300.00,S,,\n"
            "L2,300.00,F,AC06,\n"
            "L3,300.00,F,E1042,ACCOUNT NUMBER INVALID\n").encode()

    parsed = parse("debit_result_csv", data, mapping={"end_to_end_id": "BatchLineId", "amount": "Amt",
                                                      "status": "Outcome", "reason_code": "ErrCode",
                                                      "reason_text": "ErrText"})

    assert [(r.line, r.status, r.reason_code, r.reason) for r in parsed.results] == [
        (2, "paid", "", ""), (3, "failed", "AC06", "account_frozen"), (4, "failed", "E1042", "invalid_account")]
    assert parsed.results[1].reason_text == "Blocked account"


@pytest.mark.parametrize(("code", "text", "reason"), [
    ("AM04", "", "insufficient_funds"), ("", "余额不足", "insufficient_funds"),
    ("AC06", "", "account_frozen"), ("", "账户冻结", "account_frozen"),
    ("AC04", "", "account_closed"), ("", "账户已销户", "account_closed"),
    ("", "户名不符", "name_mismatch"),
    ("AC01", "", "invalid_account"), ("", "账号错误", "invalid_account"), ("", "帐号不存在", "invalid_account"),
    ("", "卡号无效", "invalid_account"), ("NARR", "ACC NUMBER INVALID", "invalid_account"),
    ("MD06", "Refund request", "other"), ("NARR", "交易超限", "other"), ("", "", "other"),
])
def test_reason_mapping(code, text, reason):
    assert map_reason(code, text) == reason
