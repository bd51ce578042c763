from django import forms
from django.utils.translation import gettext as _

from hospital.phones import InvalidMobile, normalize_mobile


class MobileField(forms.CharField):
    """A patient's mobile number, cleaned to E.164 ("+919812345678") as every booking
    stores it, or a returning patient would not be found by their number."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 30)
        super().__init__(**kwargs)

    def clean(self, value):
        value = super().clean(value)
        try:
            mobile = normalize_mobile(value)
        except InvalidMobile as exc:
            raise forms.ValidationError(str(exc)) from None
        if self.required and not mobile:
            raise forms.ValidationError(_("Enter the patient's mobile number."))
        return mobile
