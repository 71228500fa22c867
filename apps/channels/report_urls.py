"""The SMS and voice gateways' signed delivery reports (webhooks.gateway_report): each
answers 404 while its gateway's secret is not set."""

from django.urls import path

from .models import Channel
from .webhooks import gateway_report

app_name = "channels"

urlpatterns = [
    path("rapport/sms/", gateway_report, {"channel": Channel.SMS}, name="sms_report"),
    path("rapport/voice/", gateway_report, {"channel": Channel.VOICE}, name="voice_report"),
]
