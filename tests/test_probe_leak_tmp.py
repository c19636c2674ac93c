import pytest
from django.test import Client
from conftest import AS_OF, BJ_POLICY, GZ_POLICY, policies_csv
from policies.services.imports import policies_import

pytestmark = pytest.mark.django_db

def test_leak(portfolio, make_user):
    changed = GZ_POLICY.replace("13812345678", "13900001111").replace("6222020200001234", "6222020200005678")
    policies_import(files=[("policies.csv", policies_csv(changed))], as_of=AS_OF)
    changed2 = changed.replace("13900001111", "13900002222").replace("6222020200005678", "6222020200009999")
    policies_import(files=[("policies.csv", policies_csv(changed2))], as_of=AS_OF)
    client = Client()
    client.force_login(make_user("clerk", ["clerk"]))
    html = client.get("/policies/8860000000000001/").content.decode()
    i = html.find('class="table table-sm mb-0 trail"')
    print(html[i:i+3000])
