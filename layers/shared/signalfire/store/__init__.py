"""Storage: a small interface per aggregate, DynamoDB implementations beside it."""
