"""The payment platforms (Alipay, WeChat Pay): their SDK clients from the settings, the keys of the
local fakes, and the fakes themselves (real local HTTP servers speaking the platforms' protocols)."""
