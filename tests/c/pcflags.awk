# A minimal pkg-config stand-in for the install test on machines without
# pkg-config: prints one field of a .pc file with its ${variables} expanded, or
# one variable. It does not follow Requires (the caller reads each file).
#
#   awk -v field=Cflags -f pcflags.awk taskengine.pc
#   awk -v field=Libs -v static=1 -f pcflags.awk taskengine.pc   # + Libs.private
#   awk -v var=libdir -f pcflags.awk taskengine.pc
function expand(s,    out, name, i) {
  out = ""
  while ((i = index(s, "${")) > 0) {
    out = out substr(s, 1, i - 1)
    s = substr(s, i + 2)
    name = substr(s, 1, index(s, "}") - 1)
    s = substr(s, index(s, "}") + 1)
    out = out vars[name]
  }
  return out s
}
/^[A-Za-z_][A-Za-z0-9_.]*=/ {
  i = index($0, "=")
  vars[substr($0, 1, i - 1)] = expand(substr($0, i + 1))
  next
}
/^[A-Za-z_.]+:/ {
  i = index($0, ":")
  key = substr($0, 1, i - 1)
  value = substr($0, i + 1)
  sub(/^[ \t]+/, "", value)
  fields[key] = expand(value)
}
END {
  if (var != "") {
    print vars[var]
    exit
  }
  out = fields[field]
  if (field == "Libs" && static && fields["Libs.private"] != "") out = out " " fields["Libs.private"]
  print out
}
