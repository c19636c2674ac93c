"""One feed row to clean values: the rules of formats/policy-feed.md, shared by the CSV import,
the API's PUT and the demo generator's checks."""

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal

from policies import validation as v
from policies.models import Customer, Policy, Product

FEED_STATUSES = ["in_force", "lapsed", "paid_up", "terminated", "surrendered", "matured"]

POLICY_COLUMNS = [
    "policy_no", "product_code", "branch_code", "agent_code", "agent_name", "agent_status",
    "holder_name", "holder_id_type", "holder_id_no", "holder_birth_date", "holder_gender",
    "holder_phone", "holder_email", "holder_address", "insured_name", "insured_id_no",
    "insured_birth_date", "issue_date", "frequency", "premium_term_years", "modal_premium",
    "sum_assured", "payment_method", "bank_name", "bank_account", "bank_account_name",
    "paid_to_date", "status", "lapse_date", "sales_channel",
]
BRANCH_COLUMNS = ["branch_code", "name", "parent_code", "province", "city"]
PRODUCT_COLUMNS = ["product_code", "name", "kind", "grace_days", "reinstatement_years", "reinstatement_interest_rate"]


@dataclass
class RowProblem:
    column: str
    reason: str


@dataclass
class CleanPolicy:
    values: dict
    warnings: list[RowProblem] = field(default_factory=list)


# The clean values of a policy row, in the staging table's order (imports.STAGE_NAMES without line).
VALUE_COLUMNS = [
    "policy_no", "product_code", "branch_code", "agent_code", "agent_name", "agent_status",
    "holder_name", "holder_id_type", "holder_id_no", "holder_birth_date", "holder_gender", "holder_phone",
    "holder_email", "holder_address", "insured_name", "insured_id_type", "insured_id_no", "insured_birth_date",
    "issue_date", "frequency", "premium_term_years", "modal_premium", "sum_assured", "payment_method",
    "bank_name", "bank_account", "bank_account_name", "paid_to_date", "status", "lapse_date", "sales_channel",
]
ID_TYPES = list(Customer.IdType.values)
FREQUENCIES = list(Policy.Frequency.values)
PAYMENT_METHODS = list(Policy.PaymentMethod.values)
SALES_CHANNELS = list(Policy.SalesChannel.values)
_ID_TYPE_SET, _FREQUENCY_SET, _METHOD_SET = frozenset(ID_TYPES), frozenset(FREQUENCIES), frozenset(PAYMENT_METHODS)
_CHANNEL_SET, _DEFAULT_CHANNEL = frozenset(SALES_CHANNELS), str(Policy.SalesChannel.AGENCY)
_STATUS_SET, _AGENT_STATUS_SET = frozenset(FEED_STATUSES), frozenset(["active", "left"])
_ZERO = Decimal("0")
_CENT = Decimal("0.01")
# An amount whose Decimal needs no further check: plain ASCII digits, up to two decimals.
_PLAIN_AMOUNT = re.compile(r"[0-9]{1,12}(?:\.[0-9]{1,2})?")
_from_iso = dt.date.fromisoformat


def _fail(check, column: str, value: str, *args, **kwargs):
    """The slow path of a check: run validation's own function on the value, so a rejected value
    gets exactly its reason (or, for an unusual but valid value, its clean result)."""
    return check({column: value}, column, *args, **kwargs)


# Amounts repeat a lot across a file: each distinct text is parsed once.
_AMOUNTS: dict[str, Decimal] = {}
_CACHE_LIMIT = 200_000


def _date(column: str, value: str) -> dt.date:
    """validation.date_field of a non-empty stripped value."""
    if len(value) == 10:
        try:
            return _from_iso(value)
        except ValueError:
            pass
    return _fail(v.date_field, column, value)


def _amount(column: str, value: str) -> Decimal:
    """validation.amount_field (positive) of a stripped value."""
    amount = _AMOUNTS.get(value)
    if amount is not None:
        return amount
    if _PLAIN_AMOUNT.fullmatch(value):
        amount = Decimal(value).quantize(_CENT)
        if amount > _ZERO:
            if len(_AMOUNTS) >= _CACHE_LIMIT:
                _AMOUNTS.clear()
            _AMOUNTS[value] = amount
            return amount
    return _fail(v.amount_field, column, value)


class PolicyRowCleaner:
    """policies.csv rows to clean values: the rules of formats/policy-feed.md.

    Built once per file (header, business date, known codes), then `clean(cells)` per row: the
    cells as csv gives them, in the header's order. One function, no dict per row, the common
    case checked inline; whatever the inline checks do not accept goes through the functions of
    policies.validation, so a rejected row gets the same first error (column and reason).
    """

    def __init__(self, *, header: list[str], as_of: dt.date, product_codes: set[str], branch_codes: set[str]):
        self.width = len(header)
        position = {name: i for i, name in enumerate(header)}  # a repeated column: the last one, as in a dict
        # an absent column reads the empty cell appended after the header's columns
        self.index = [position.get(name, self.width) for name in POLICY_COLUMNS]
        self.as_of = as_of
        self.product_codes = product_codes
        self.branch_codes = branch_codes

    def clean(self, cells: list[str]) -> tuple[tuple, list[RowProblem]]:
        """(values in VALUE_COLUMNS order, warnings); raises validation.FieldError on the first problem."""
        width = self.width
        if len(cells) != width:
            cells = (list(cells) + [""] * width)[:width]
        cells.append("")
        (i_policy_no, i_product_code, i_branch_code, i_agent_code, i_agent_name, i_agent_status, i_holder_name,
         i_holder_id_type, i_holder_id_no, i_holder_birth_date, i_holder_gender, i_holder_phone, i_holder_email,
         i_holder_address, i_insured_name, i_insured_id_no, i_insured_birth_date, i_issue_date, i_frequency,
         i_premium_term_years, i_modal_premium, i_sum_assured, i_payment_method, i_bank_name, i_bank_account,
         i_bank_account_name, i_paid_to_date, i_status, i_lapse_date, i_sales_channel) = self.index
        FieldError = v.FieldError
        warnings: list[RowProblem] = []

        policy_no = (cells[i_policy_no] or "").strip()
        if not policy_no:
            raise FieldError("policy_no", "required")
        if len(policy_no) > 32:
            raise FieldError("policy_no", "longer than 32 characters")
        product_code = (cells[i_product_code] or "").strip()
        if product_code not in self.product_codes:
            if not product_code:
                raise FieldError("product_code", "required")
            raise FieldError("product_code", f"unknown product {product_code!r}")
        branch_code = (cells[i_branch_code] or "").strip()
        if branch_code not in self.branch_codes:
            if not branch_code:
                raise FieldError("branch_code", "required")
            raise FieldError("branch_code", f"unknown branch {branch_code!r}")
        agent_code = (cells[i_agent_code] or "").strip()
        if len(agent_code) > 32:
            raise FieldError("agent_code", "longer than 32 characters")
        agent_name = (cells[i_agent_name] or "").strip()
        if len(agent_name) > 64:
            raise FieldError("agent_name", "longer than 64 characters")
        agent_status = (cells[i_agent_status] or "").strip() or "active"
        if agent_status not in _AGENT_STATUS_SET:
            agent_status = _fail(v.choice_field, "agent_status", agent_status, ["active", "left"], default="active")

        holder_name = (cells[i_holder_name] or "").strip()
        if not holder_name:
            raise FieldError("holder_name", "required")
        if len(holder_name) > 64:
            raise FieldError("holder_name", "longer than 64 characters")
        holder_id_type = (cells[i_holder_id_type] or "").strip() or "resident_id"
        if holder_id_type not in _ID_TYPE_SET:
            holder_id_type = _fail(v.choice_field, "holder_id_type", holder_id_type, ID_TYPES, default="resident_id")
        holder_id_raw = holder_id_no = (cells[i_holder_id_no] or "").strip()
        if not holder_id_no:
            raise FieldError("holder_id_no", "required")
        resident = holder_id_type == "resident_id"
        if resident:
            holder_id_no, id_birth = v.resident_id_parse(holder_id_no, column="holder_id_no")
        elif len(holder_id_no) > 32:
            raise FieldError("holder_id_no", "longer than 32 characters")
        holder_birth_text = (cells[i_holder_birth_date] or "").strip()
        holder_birth_date = _date("holder_birth_date", holder_birth_text) if holder_birth_text else None
        holder_gender = (cells[i_holder_gender] or "").strip()
        if holder_gender and holder_gender != "M" and holder_gender != "F":
            holder_gender = _fail(v.choice_field, "holder_gender", holder_gender, ["M", "F"], default="")
        if resident:
            if holder_birth_date is None:
                holder_birth_date = id_birth
            elif holder_birth_date != id_birth:
                warnings.append(RowProblem("holder_birth_date", f"differs from the ID number's birth date {id_birth}"))
            id_gender = "M" if int(holder_id_no[16]) % 2 else "F"
            if not holder_gender:
                holder_gender = id_gender
            elif holder_gender != id_gender:
                warnings.append(RowProblem("holder_gender", f"the ID number's gender digit says {id_gender}"))
        holder_phone = (cells[i_holder_phone] or "").strip()
        if holder_phone and not v.MOBILE_RE.match(holder_phone):
            _fail(v.phone_field, "holder_phone", holder_phone)
        holder_email = (cells[i_holder_email] or "").strip()
        if holder_email and (len(holder_email) > 254 or not v.EMAIL_RE.match(holder_email)):
            _fail(v.email_field, "holder_email", holder_email)
        holder_address = (cells[i_holder_address] or "").strip()
        if len(holder_address) > 256:
            raise FieldError("holder_address", "longer than 256 characters")

        insured_id_no = (cells[i_insured_id_no] or "").strip()
        if insured_id_no:
            # The feed carries no insured_id_type: an 18-character number is read as a resident ID.
            if len(insured_id_no) in (15, 18):
                insured_id_type = "resident_id"
                if resident and insured_id_no == holder_id_raw:  # the holder's number, checked above
                    insured_id_no, insured_id_birth = holder_id_no, id_birth
                else:
                    insured_id_no, insured_id_birth = v.resident_id_parse(insured_id_no, column="insured_id_no")
            else:
                insured_id_type, insured_id_birth = "other", None
                if len(insured_id_no) > 32:
                    raise FieldError("insured_id_no", "longer than 32 characters")
            insured_name = (cells[i_insured_name] or "").strip()
            if not insured_name:
                raise FieldError("insured_name", "required")
            if len(insured_name) > 64:
                raise FieldError("insured_name", "longer than 64 characters")
            insured_birth_text = (cells[i_insured_birth_date] or "").strip()
            insured_birth_date = (_date("insured_birth_date", insured_birth_text) if insured_birth_text
                                  else insured_id_birth)
        else:
            insured_id_type, insured_id_no = holder_id_type, holder_id_no
            insured_name = (cells[i_insured_name] or "").strip() or holder_name
            insured_birth_text = (cells[i_insured_birth_date] or "").strip()
            insured_birth_date = (_date("insured_birth_date", insured_birth_text) if insured_birth_text
                                  else None) or holder_birth_date

        issue_text = (cells[i_issue_date] or "").strip()
        if not issue_text:
            raise FieldError("issue_date", "required")
        issue_date = _date("issue_date", issue_text)
        frequency = (cells[i_frequency] or "").strip()
        if frequency not in _FREQUENCY_SET:
            frequency = _fail(v.choice_field, "frequency", frequency, FREQUENCIES)
        term_text = (cells[i_premium_term_years] or "").strip()
        if term_text.isascii() and term_text.isdigit() and 1 <= int(term_text) <= 100:
            premium_term_years = int(term_text)
        else:
            premium_term_years = _fail(v.int_field, "premium_term_years", term_text, minimum=1, maximum=100)
        modal_premium = _amount("modal_premium", (cells[i_modal_premium] or "").strip())
        sum_assured = _amount("sum_assured", (cells[i_sum_assured] or "").strip())
        payment_method = (cells[i_payment_method] or "").strip()
        if payment_method not in _METHOD_SET:
            payment_method = _fail(v.choice_field, "payment_method", payment_method, PAYMENT_METHODS)
        bank_name = (cells[i_bank_name] or "").strip()
        if len(bank_name) > 64:
            raise FieldError("bank_name", "longer than 64 characters")
        bank_account = (cells[i_bank_account] or "").strip().replace(" ", "")
        if len(bank_account) > 34:
            raise FieldError("bank_account", "longer than 34 characters")
        bank_account_name = (cells[i_bank_account_name] or "").strip()
        if len(bank_account_name) > 64:
            raise FieldError("bank_account_name", "longer than 64 characters")
        if payment_method == "auto_debit":
            if not bank_name:
                raise FieldError("bank_name", "required for auto_debit")
            if not bank_account:
                raise FieldError("bank_account", "required for auto_debit")
            if not bank_account_name:
                raise FieldError("bank_account_name", "required for auto_debit")
        if bank_account and not bank_account.isdigit():
            raise FieldError("bank_account", "digits only")
        paid_to_text = (cells[i_paid_to_date] or "").strip()
        if not paid_to_text:
            raise FieldError("paid_to_date", "required")
        paid_to_date = _date("paid_to_date", paid_to_text)
        if paid_to_date < issue_date:
            raise FieldError("paid_to_date", f"{paid_to_date} is before issue_date {issue_date}")
        status = (cells[i_status] or "").strip() or "in_force"
        if status not in _STATUS_SET:
            status = _fail(v.choice_field, "status", status, FEED_STATUSES, default="in_force")
        lapse_text = (cells[i_lapse_date] or "").strip()
        lapse_date: dt.date | None = None
        if status == "lapsed":
            if not lapse_text:
                raise FieldError("lapse_date", "required")
            lapse_date = _date("lapse_date", lapse_text)
            if lapse_date <= issue_date:
                raise FieldError("lapse_date", f"{lapse_date} is not after issue_date {issue_date}")
        elif lapse_text:
            _date("lapse_date", lapse_text)  # a malformed date is refused whatever the status
        sales_channel = (cells[i_sales_channel] or "").strip() or _DEFAULT_CHANNEL
        if sales_channel not in _CHANNEL_SET:
            sales_channel = _fail(v.choice_field, "sales_channel", sales_channel, SALES_CHANNELS,
                                  default=_DEFAULT_CHANNEL)
        if issue_date > self.as_of:
            warnings.append(RowProblem("issue_date", f"{issue_date} is after the business date {self.as_of}"))

        return (
            policy_no, product_code, branch_code, agent_code, agent_name, agent_status, holder_name,
            holder_id_type, holder_id_no, holder_birth_date, holder_gender, holder_phone, holder_email,
            holder_address, insured_name, insured_id_type, insured_id_no, insured_birth_date, issue_date,
            frequency, premium_term_years, modal_premium, sum_assured, payment_method, bank_name, bank_account,
            bank_account_name, paid_to_date, status, lapse_date, sales_channel,
        ), warnings


def policy_row_clean(row: dict, *, as_of: dt.date, product_codes: set[str], branch_codes: set[str]) -> CleanPolicy:
    """Raises validation.FieldError on the first problem; returns values and warnings."""
    cleaner = PolicyRowCleaner(header=POLICY_COLUMNS, as_of=as_of, product_codes=product_codes,
                               branch_codes=branch_codes)
    values, warnings = cleaner.clean([row.get(column) or "" for column in POLICY_COLUMNS])
    return CleanPolicy(values=dict(zip(VALUE_COLUMNS, values, strict=True)), warnings=warnings)


def branch_row_clean(row: dict, *, known_codes: set[str]) -> dict:
    code = v.max_length("branch_code", v.required(row, "branch_code"), 32)
    parent_code = v.optional(row, "parent_code")
    if parent_code == code:
        raise v.FieldError("parent_code", "a branch cannot be its own parent")
    if parent_code and parent_code not in known_codes:
        raise v.FieldError("parent_code", f"unknown branch {parent_code!r}")
    return {
        "code": code,
        "name": v.max_length("name", v.required(row, "name"), 128),
        "parent_code": parent_code,
        "province": v.max_length("province", v.optional(row, "province"), 32),
        "city": v.max_length("city", v.optional(row, "city"), 32),
    }


def product_row_clean(row: dict) -> dict:
    rate_text = v.optional(row, "reinstatement_interest_rate") or "0.045"
    try:
        rate = Decimal(rate_text)
    except Exception:
        raise v.FieldError("reinstatement_interest_rate", f"not a number: {rate_text!r}") from None
    exponent = rate.as_tuple().exponent  # an int for a finite number
    if not rate.is_finite() or not Decimal("0") <= rate < Decimal("1") or not isinstance(exponent, int) or exponent < -5:
        raise v.FieldError("reinstatement_interest_rate", f"a yearly rate between 0 and 1 is expected: {rate_text!r}")
    return {
        "code": v.max_length("product_code", v.required(row, "product_code"), 32),
        "name": v.max_length("name", v.required(row, "name"), 128),
        "kind": v.choice_field(row, "kind", Product.Kind.values),
        "grace_days": v.int_field(row, "grace_days", default=60, minimum=0, maximum=365),
        "reinstatement_years": v.int_field(row, "reinstatement_years", default=2, minimum=0, maximum=10),
        "reinstatement_interest_rate": rate,
    }
