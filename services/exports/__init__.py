"""Exports for the record: the workbook, the file archive, calendars; data here, files in ui/."""
