"""datasource/tools"""
