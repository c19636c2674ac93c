"""Masking of personal data, on screen and in the API (DESIGN.md section 4).

ID 110105********1234, phone 138****5678, account ****1234.
"""


def mask_id_no(value: str | None) -> str:
    if not value:
        return ""
    if len(value) <= 10:
        return value[:2] + "*" * max(len(value) - 4, 0) + value[-2:]
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def mask_phone(value: str | None) -> str:
    if not value:
        return ""
    if len(value) < 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_account(value: str | None) -> str:
    if not value:
        return ""
    return "****" + value[-4:]


MASKERS = {"id_no": mask_id_no, "phone": mask_phone, "bank_account": mask_account}


def mask_diff(diff: dict | None) -> dict | None:
    """A trail row's {field: [before, after]} with personal fields masked, for screens whose
    readers reveal through the audited button, not through the trail."""
    if not diff:
        return diff
    return {
        field: [MASKERS[field](value) for value in change] if field in MASKERS else change
        for field, change in diff.items()
    }
