resource "aws_dynamodb_table" "this" {
  # checkov:skip=CKV_AWS_119:Encrypted at rest with the AWS managed key (server_side_encryption below); a customer managed key adds a monthly fee per key and KMS calls on every read, for data (movie records, idempotency keys) no stricter policy asks for.
  # checkov:skip=CKV2_AWS_16:On-demand (PAY_PER_REQUEST) tables scale by themselves; auto scaling applies only to provisioned capacity.
  for_each = local.deployment.tables

  name                        = local.name.tables[each.key]
  billing_mode                = each.value.billing_mode
  hash_key                    = each.value.hash_key
  stream_enabled              = each.value.stream_view_type != null
  stream_view_type            = each.value.stream_view_type
  deletion_protection_enabled = var.deletion_protection

  attribute {
    name = each.value.hash_key
    type = each.value.hash_key_type
  }

  dynamic "ttl" {
    for_each = each.value.ttl_attribute == null ? [] : [each.value.ttl_attribute]
    content {
      enabled        = true
      attribute_name = ttl.value
    }
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled = true
  }
}
