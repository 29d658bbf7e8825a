"""datasource/store"""
