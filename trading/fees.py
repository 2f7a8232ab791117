"""The form for one credential's commission and tax rates (``trading.models.FeeSettings``)."""

from __future__ import annotations

from typing import Any

from django import forms

from trading.models import FeeSettings


class FeeSettingsForm(forms.ModelForm):
    """Rates in percent, as brokers print them; each between 0 and 5 %."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.widget.attrs.update(step="0.0000001", inputmode="decimal")

    class Meta:
        model = FeeSettings
        fields = (
            "commission_pct",
            "kospi_sell_tax_pct",
            "kosdaq_sell_tax_pct",
            "us_commission_pct",
            "us_sell_fee_pct",
        )
