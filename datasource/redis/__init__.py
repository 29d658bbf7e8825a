"""datasource/redis"""
