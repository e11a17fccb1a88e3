"""Delivery of the outbox: in-app (the bell), e-mail (smtplib) and signed webhooks.

The engine writes outbox rows in the transaction of the change that causes them and
never imports this package. `dispatch.Dispatcher` claims due rows, renders them with
the Jinja2 templates under templates/{zh,en}/ in the recipient's language, and sends
them through the channels of `channels.py`.
"""
