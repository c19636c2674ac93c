"""The shipped reminder texts (version 1 of each); team leads write new versions."""

ZH_EMAIL_SUBJECT = "保单{{ policy_no }}续期保费提醒"
ZH_BODY = ("{{ name }}您好：您的保单{{ policy_no }}（{{ product }}）续期保费{{ amount }}元应于{{ due_date|date:'Y-m-d' }}"
           "交纳，宽限期至{{ grace_end|date:'Y-m-d' }}。如已交纳，请忽略本提醒。")
EN_EMAIL_SUBJECT = "Renewal premium reminder for policy {{ policy_no }}"
EN_BODY = ("Dear {{ name }}, the renewal premium of {{ amount }} CNY for policy {{ policy_no }} ({{ product }}) is due "
           "on {{ due_date|date:'Y-m-d' }}; the grace period ends on {{ grace_end|date:'Y-m-d' }}. If you have paid, "
           "please ignore this reminder.")

DEFAULTS = [
    {"channel": "email", "language": "zh-hans", "subject": ZH_EMAIL_SUBJECT, "body": ZH_BODY},
    {"channel": "email", "language": "en", "subject": EN_EMAIL_SUBJECT, "body": EN_BODY},
    {"channel": "sms", "language": "zh-hans", "body": ZH_BODY, "provider_template_code": "SMS_RD_REMIND",
     "sign_name": "续期示范人寿"},
    {"channel": "sms", "language": "en", "body": EN_BODY, "provider_template_code": "SMS_RD_REMIND_EN",
     "sign_name": "续期示范人寿"},
]
