"""datasource/services"""
