import pytest

from reporting.tests.portfolio import kpi_portfolio_build


@pytest.fixture
def kpi_portfolio(db):
    """The hand-built portfolio of reporting/tests/portfolio.py, through its six nights."""
    kpi_portfolio_build()
