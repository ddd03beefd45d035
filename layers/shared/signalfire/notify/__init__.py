"""Notifications (seed: apps/notify): channel drivers, templates, the outbound
guard, stored channels and the selection rule the notify stage and the
``/notify/...`` routes share.

Shaped after Alertmanager's ``notify/``: one module per channel under
:mod:`signalfire.notify.channels`, each send answering the seed's standard
result plus whether a failure is worth retrying (:mod:`signalfire.notify.retry`
holds the one rule that decides it), templates shipped as files.
"""
