"""Translation catalogs (messages.pot, zh_CN, en), shipped inside the package."""
