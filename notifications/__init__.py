"""Delivery of the outbox (in-app, email, signed webhooks): the next issue's work.

The engine already writes outbox rows in the transaction of the change that causes
them (today: administrators warned that a calendar year is missing); this package will
hold the channels and the job that sends them.
"""
