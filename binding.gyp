{
  # The Node addon for node-gyp and prebuildify (prebuilds come from here:
  # prebuildify cannot drive cmake-js). The C core is compiled into the
  # addon; CHAP digests use Node's own OpenSSL (headers under node's
  # include dir, symbols exported by the node binary). native/core/src holds
  # the protocol half, native/core/src/admin the admin half (node database,
  # configuration files, firmware and kernel sysfs).
  "targets": [
    {
      "target_name": "iscsi_initiator",
      "sources": [
        "<!@(node -p \"require('fs').readdirSync('native/core/src').filter(f => f.endsWith('.c')).sort().map(f => 'native/core/src/' + f).join(' ')\")",
        "<!@(node -p \"require('fs').readdirSync('native/core/src/admin').filter(f => f.endsWith('.c')).sort().map(f => 'native/core/src/admin/' + f).join(' ')\")",
        "<!@(node -p \"require('fs').readdirSync('native/addon').filter(f => f.endsWith('.cc')).sort().map(f => 'native/addon/' + f).join(' ')\")"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "native/core/include",
        "native/core/src"
      ],
      "defines": [
        "NAPI_VERSION=8",
        "NAPI_DISABLE_CPP_EXCEPTIONS",
        "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS",
        "_GNU_SOURCE"
      ],
      "cflags": ["-fvisibility=hidden", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "cflags_c": ["-std=c11"],
      "cflags_cc": ["-std=c++17", "-fno-exceptions"],
      "ldflags": ["-Wl,--exclude-libs,ALL"]
    }
  ]
}
