"""One feed row to clean values: the rules of formats/policy-feed.md, shared by the CSV import,
the API's PUT and the demo generator's checks."""

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from policies import validation as v
from policies.models import Customer, Policy, PolicyStatus, Product

FEED_STATUSES = ["in_force", "lapsed", "paid_up", "terminated", "surrendered", "matured"]

POLICY_COLUMNS = [
    "policy_no", "product_code", "branch_code", "agent_code", "agent_name", "agent_status",
    "holder_name", "holder_id_type", "holder_id_no", "holder_birth_date", "holder_gender",
    "holder_phone", "holder_email", "holder_address", "insured_name", "insured_id_no",
    "insured_birth_date", "issue_date", "frequency", "premium_term_years", "modal_premium",
    "sum_assured", "payment_method", "bank_name", "bank_account", "bank_account_name",
    "paid_to_date", "status", "lapse_date",
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


def _id_number(row: dict, column: str, id_type: str) -> str:
    if id_type == Customer.IdType.RESIDENT_ID:
        return v.resident_id_clean(v.required(row, column), column=column)
    return v.max_length(column, v.required(row, column), 32)


def policy_row_clean(row: dict, *, as_of: dt.date, product_codes: set[str], branch_codes: set[str]) -> CleanPolicy:
    """Raises validation.FieldError on the first problem; returns values and warnings."""
    warnings: list[RowProblem] = []
    policy_no = v.max_length("policy_no", v.required(row, "policy_no"), 32)
    product_code = v.required(row, "product_code")
    if product_code not in product_codes:
        raise v.FieldError("product_code", f"unknown product {product_code!r}")
    branch_code = v.required(row, "branch_code")
    if branch_code not in branch_codes:
        raise v.FieldError("branch_code", f"unknown branch {branch_code!r}")
    agent_code = v.max_length("agent_code", v.optional(row, "agent_code"), 32)
    agent_name = v.max_length("agent_name", v.optional(row, "agent_name"), 64)
    agent_status = v.choice_field(row, "agent_status", ["active", "left"], default="active")

    holder_name = v.max_length("holder_name", v.required(row, "holder_name"), 64)
    holder_id_type = v.choice_field(row, "holder_id_type", Customer.IdType.values, default="resident_id")
    holder_id_no = _id_number(row, "holder_id_no", holder_id_type)
    holder_birth_date = v.date_field(row, "holder_birth_date", required_=False)
    holder_gender = v.choice_field(row, "holder_gender", ["M", "F"], default="")
    if holder_id_type == Customer.IdType.RESIDENT_ID:
        id_birth = v.resident_id_birth_date(holder_id_no)
        if holder_birth_date is None:
            holder_birth_date = id_birth
        elif holder_birth_date != id_birth:
            warnings.append(RowProblem("holder_birth_date", f"differs from the ID number's birth date {id_birth}"))
        id_gender = v.resident_id_gender(holder_id_no)
        if not holder_gender:
            holder_gender = id_gender
        elif holder_gender != id_gender:
            warnings.append(RowProblem("holder_gender", f"the ID number's gender digit says {id_gender}"))
    holder_phone = v.phone_field(row, "holder_phone")
    holder_email = v.email_field(row, "holder_email")
    holder_address = v.max_length("holder_address", v.optional(row, "holder_address"), 256)

    insured_id_no_raw = v.optional(row, "insured_id_no")
    if insured_id_no_raw:
        # The feed carries no insured_id_type: an 18-character number is read as a resident ID.
        insured_id_type = "resident_id" if len(insured_id_no_raw) in (15, 18) else "other"
        insured_id_no = _id_number(row, "insured_id_no", insured_id_type)
        insured_name = v.max_length("insured_name", v.required(row, "insured_name"), 64)
        insured_birth_date = v.date_field(row, "insured_birth_date", required_=False)
        if insured_birth_date is None and insured_id_type == "resident_id":
            insured_birth_date = v.resident_id_birth_date(insured_id_no)
    else:
        insured_id_type, insured_id_no = holder_id_type, holder_id_no
        insured_name = v.optional(row, "insured_name") or holder_name
        insured_birth_date = v.date_field(row, "insured_birth_date", required_=False) or holder_birth_date

    issue_date = v.date_field(row, "issue_date")
    frequency = v.choice_field(row, "frequency", Policy.Frequency.values)
    premium_term_years = v.int_field(row, "premium_term_years", minimum=1, maximum=100)
    modal_premium = v.amount_field(row, "modal_premium")
    sum_assured = v.amount_field(row, "sum_assured")
    payment_method = v.choice_field(row, "payment_method", Policy.PaymentMethod.values)
    bank_name = v.max_length("bank_name", v.optional(row, "bank_name"), 64)
    bank_account = v.max_length("bank_account", v.optional(row, "bank_account").replace(" ", ""), 34)
    bank_account_name = v.max_length("bank_account_name", v.optional(row, "bank_account_name"), 64)
    if payment_method == Policy.PaymentMethod.AUTO_DEBIT:
        for column, value in (("bank_name", bank_name), ("bank_account", bank_account),
                              ("bank_account_name", bank_account_name)):
            if not value:
                raise v.FieldError(column, "required for auto_debit")
    if bank_account and not bank_account.isdigit():
        raise v.FieldError("bank_account", "digits only")
    paid_to_date = v.date_field(row, "paid_to_date")
    if paid_to_date < issue_date:
        raise v.FieldError("paid_to_date", f"{paid_to_date} is before issue_date {issue_date}")
    status = v.choice_field(row, "status", FEED_STATUSES, default="in_force")
    lapse_date = v.date_field(row, "lapse_date", required_=status == PolicyStatus.LAPSED)
    if status != PolicyStatus.LAPSED:
        lapse_date = None
    elif lapse_date <= issue_date:
        raise v.FieldError("lapse_date", f"{lapse_date} is not after issue_date {issue_date}")
    if issue_date > as_of:
        warnings.append(RowProblem("issue_date", f"{issue_date} is after the business date {as_of}"))

    return CleanPolicy(
        values={
            "policy_no": policy_no, "product_code": product_code, "branch_code": branch_code,
            "agent_code": agent_code, "agent_name": agent_name, "agent_status": agent_status,
            "holder_name": holder_name, "holder_id_type": holder_id_type, "holder_id_no": holder_id_no,
            "holder_birth_date": holder_birth_date, "holder_gender": holder_gender,
            "holder_phone": holder_phone, "holder_email": holder_email, "holder_address": holder_address,
            "insured_name": insured_name, "insured_id_type": insured_id_type, "insured_id_no": insured_id_no,
            "insured_birth_date": insured_birth_date, "issue_date": issue_date, "frequency": frequency,
            "premium_term_years": premium_term_years, "modal_premium": modal_premium,
            "sum_assured": sum_assured, "payment_method": payment_method, "bank_name": bank_name,
            "bank_account": bank_account, "bank_account_name": bank_account_name,
            "paid_to_date": paid_to_date, "status": status, "lapse_date": lapse_date,
        },
        warnings=warnings,
    )


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
    if not rate.is_finite() or not Decimal("0") <= rate < Decimal("1") or rate.as_tuple().exponent < -5:
        raise v.FieldError("reinstatement_interest_rate", f"a yearly rate between 0 and 1 is expected: {rate_text!r}")
    return {
        "code": v.max_length("product_code", v.required(row, "product_code"), 32),
        "name": v.max_length("name", v.required(row, "name"), 128),
        "kind": v.choice_field(row, "kind", Product.Kind.values),
        "grace_days": v.int_field(row, "grace_days", default=60, minimum=0, maximum=365),
        "reinstatement_years": v.int_field(row, "reinstatement_years", default=2, minimum=0, maximum=10),
        "reinstatement_interest_rate": rate,
    }
