from django import forms


class DateInput(forms.DateInput):
    """An HTML date input: its value must be YYYY-MM-DD whatever the language's date format."""

    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%d")


def service_errors_show(form: forms.Form, exc) -> None:
    """A service's ApplicationError on a form: each field's reasons beside that field (a name the
    form has no field for goes above the form), the message above the form when it names none."""
    for field, reasons in (exc.errors or {}).items():
        for reason in reasons:
            form.add_error(field if field in form.fields else None, reason)
    if not exc.errors:
        form.add_error(None, str(exc.message))
