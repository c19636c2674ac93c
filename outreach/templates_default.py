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

# issue 16: robot calls (the TTS template the provider approved; the text is what it says), WeChat
# template messages and app push
ZH_CALL = ("{{ name }}您好，这里是续期示范人寿。您的保单{{ policy_no }}续期保费{{ amount }}元已逾期，宽限期至"
           "{{ grace_end|date:'Y-m-d' }}。三天内交费请按1，七天内交费请按2，交费有困难请按3，对服务不满意请按4，"
           "如果您不是投保人请按9。")
EN_CALL = ("Hello {{ name }}, this is Renewal Demo Life. The renewal premium of {{ amount }} CNY for policy "
           "{{ policy_no }} is overdue; grace ends on {{ grace_end|date:'Y-m-d' }}. Press 1 to pay within 3 days, 2 "
           "within 7 days, 3 if paying is hard for you, 4 if you are unhappy with our service, 9 if you are not the "
           "policyholder.")
ZH_SHORT_SUBJECT = "续期保费提醒"
EN_SHORT_SUBJECT = "Renewal premium reminder"

CHANNEL_DEFAULTS = [
    {"channel": "phone", "kind": "robot_call", "language": "zh-hans", "body": ZH_CALL,
     "provider_template_code": "TTS_RD_OVERDUE"},
    {"channel": "phone", "kind": "robot_call", "language": "en", "body": EN_CALL,
     "provider_template_code": "TTS_RD_OVERDUE_EN"},
    {"channel": "wechat", "kind": "reminder", "language": "zh-hans", "subject": ZH_SHORT_SUBJECT, "body": ZH_BODY,
     "provider_template_code": "RD_RENEWAL_REMINDER"},
    {"channel": "wechat", "kind": "reminder", "language": "en", "subject": EN_SHORT_SUBJECT, "body": EN_BODY,
     "provider_template_code": "RD_RENEWAL_REMINDER"},
    {"channel": "app", "kind": "reminder", "language": "zh-hans", "subject": ZH_SHORT_SUBJECT, "body": ZH_BODY},
    {"channel": "app", "kind": "reminder", "language": "en", "subject": EN_SHORT_SUBJECT, "body": EN_BODY},
]
# what a message costs (CNY) and a month's budget per channel, as shipped; admins change them
BUDGET_DEFAULTS = [
    {"channel": "sms", "cost_per_message": "0.0450", "monthly_budget": "200000.00"},
    {"channel": "phone", "cost_per_message": "0.1200", "monthly_budget": "100000.00"},
    {"channel": "email", "cost_per_message": "0.0010", "monthly_budget": "2000.00"},
    {"channel": "wechat", "cost_per_message": "0.0000", "monthly_budget": "0.00"},
    {"channel": "app", "cost_per_message": "0.0000", "monthly_budget": "0.00"},
]
