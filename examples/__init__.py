"""The sample programme and roster, shipped inside the package for `liaison demo`."""
