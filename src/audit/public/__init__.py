"""The villagers' window (民生资金查询): a public page where residents see what their household
received and may complain about it."""
