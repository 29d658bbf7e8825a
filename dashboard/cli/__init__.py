"""dashboard/cli"""
