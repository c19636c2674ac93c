from django import forms


class DateInput(forms.DateInput):
    """An HTML date input: its value must be YYYY-MM-DD whatever the language's date format."""

    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%d")
