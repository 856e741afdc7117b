"""Official channels (D6) and the contact page (E4): a registry of the phone numbers, websites,
e-mail addresses, social accounts and agent ids that are really ours; public lookups; agent ids
for staff; the hotline and call-back requests."""
