// Wrapper module for tilecheck, the independent tile-log reader test tool (scripts/peers).
module vouch.invalid/peers/tilecheck

go 1.26.0

require golang.org/x/mod v0.42.0
