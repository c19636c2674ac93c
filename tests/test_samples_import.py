"""Every real sample file (../shared/samples) through `manage.py import_statement`: exit 0 or 1,
never a crash; the report's lines and totals are what the file itself says (counted by hand,
see billing/tests/importers for how); a second import adds nothing."""

import io
import json
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

SAMPLES = Path(settings.BASE_DIR).parent / "shared" / "samples"

# (file, format, lines, total_credit, total_debit) in the file's own currency
CASES = [
    ("camt053/abnamro_sample_camt053.001.02.xml", "camt053", 29, "28.00", "928.00"),
    ("camt053/ing_sample_camt053.001.02.xml", "camt053", 9, "990.00", "385.00"),
    ("camt053/nordea_sample_camt053.001.02.xml", "camt053", 6, "10100.50", "1500.50"),
    ("camt053/goldmansachs_us_camt053.001.02.xml", "camt053", 15, "100.00", "40.00"),
    ("camt053/oca_test-camt053_insurance_reversal.001.02.xml", "camt053", 4, "1405.31", "1418.30"),
    ("camt053/oca_test-camt053-txdtls_ch.001.04.xml", "camt053", 2, "3483.00", "0.00"),
    ("camt053/genkgo_camt053.v8.xml", "camt053", 1, "8.85", "0.00"),
    ("camt053/genkgo_camt053.v2.five.decimals.xml", "camt053", 1, "8.85", "0.00"),
    ("camt053/subite_LT_2024-04-11_minified.001.08.xml", "camt053", 15, "940505.25", "5209685.01"),
    ("camt054/genkgo_camt054.v2.xml", "camt054", 1, "0.00", "200000.00"),
    ("camt054/genkgo_camt054.v8.xml", "camt054", 1, "0.00", "200000.00"),
    ("camt054/oca_test-camt054_qrr.001.04.xml", "camt054", 1, "5.00", "0.00"),
    ("camt054/oca_test-sepa-camt054-unpaid_AC06.001.02.xml", "camt054", 1, "0.00", "100.00"),
    ("mt940/jejik_abnamro.sta", "mt940", 10, "0.00", "345.93"),
    ("mt940/jejik_ing.sta", "mt940", 7, "4.68", "50.27"),
    ("mt940/betterplace_sepa_snippet_de.sta", "mt940", 11, "1430745.72", "3574069.11"),
    ("mt940/cmxl_mt940_de.sta", "mt940", 16, None, None),  # three currencies: checked below
    ("mt940/mbank_pl.sta", "mt940", 3, "0.03", "0.00"),
    ("mt940/asnb_swift_blocks.txt", "mt940", 8, "2828.90", "2771.96"),
    ("mt940/sberbank_hu_insurance_dd.sta", "mt940", 3, "0.00", "9437.00"),
    ("alipay/example-alipay-records_personal_gbk.csv", "alipay", 5, "222228.50", "161.64"),
    ("wechatpay/example-wechat-records_personal.csv", "wechatpay", 16, "28.49", "2904.53"),
    ("pain002/oca_test-sepa-pain002-unpaid_AC01_MS02_MD06_AM04.xml", "pain002", 4, "0.00", "400.00"),
    ("pain002/sepaking_pain.002.002.03_sdd_AC01.xml", "pain002", 1, "0.00", "6543.14"),
    ("pain002/nordea_pain002.001.03_txn_reject_NARR.xml", "pain002", 3, "0.00", "0.00"),
    ("pain002/nordea_pain002.001.03_pmtinf_reject_NARR.xml", "pain002", 1, "0.00", "0.00"),
    ("pain002/crossriver_pain002.001.03_txn_rejected_badXmlns.xml", "pain002", 3, "0.00", "0.00"),
]


def _run(path: Path, format: str) -> tuple[int, dict]:
    out = io.StringIO()
    code = 0
    try:
        call_command("import_statement", str(path), format=format, json=True, stdout=out)
    except SystemExit as exc:
        code = exc.code
    return code, json.loads(out.getvalue())


@pytest.mark.django_db
@pytest.mark.parametrize("relative, format, lines, credit, debit", CASES, ids=[c[0] for c in CASES])
def test_sample_imports_with_its_own_lines_and_totals_and_once(relative, format, lines, credit, debit):
    if not SAMPLES.is_dir():
        pytest.skip(f"the shared samples folder is not beside the checkout ({SAMPLES})")
    code, report = _run(SAMPLES / relative, format)
    assert code in (0, 1), report
    assert report["lines"] == lines
    if credit is not None:
        assert (report["total_credit"], report["total_debit"]) == (credit, debit)
    else:
        assert report["totals_by_currency"] == {
            "credit": {"DEM": "49396.74", "EUR": "3000.00", "PLN": "20040.00"},
            "debit": {"DEM": "49309.44", "EUR": "800.00", "PLN": "10000.00"}}
    code, again = _run(SAMPLES / relative, format)
    assert code in (0, 1)
    assert (again["lines"], again["new"]) == (lines, 0)


def test_every_statement_sample_is_covered():
    if not SAMPLES.is_dir():
        pytest.skip(f"the shared samples folder is not beside the checkout ({SAMPLES})")
    covered = {c[0] for c in CASES}
    present = {str(p.relative_to(SAMPLES)) for p in SAMPLES.rglob("*") if p.is_file()
               and p.parent.name in ("camt053", "camt054", "mt940", "alipay", "wechatpay", "pain002")}
    assert present == covered
