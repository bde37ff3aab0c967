# tflint with the built-in Terraform ruleset only (bundled in tflint: no plugin download).
config {
  call_module_type = "local"
}

plugin "terraform" {
  enabled = true
  preset  = "recommended"
}
