"""The offline stand-ins for Telegram: fake transport, update builders, the demo.

Used by the tests and by `liaison demo`; production wiring never imports them.
"""
