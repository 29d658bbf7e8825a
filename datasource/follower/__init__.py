"""datasource/follower"""
