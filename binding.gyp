{
  "targets": [
    {
      "target_name": "lmkit",
      "sources": [
        "<!@(node -p \"require('fs').readdirSync('native/cpu').filter(f => f.endsWith('.cpp')).map(f => 'native/cpu/' + f).join(' ')\")",
        "<!@(node -p \"require('fs').readdirSync('native/napi').filter(f => f.endsWith('.cpp')).map(f => 'native/napi/' + f).join(' ')\")"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "native"
      ],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17", "-std=gnu++20"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-O3", "-fno-math-errno", "-Wall", "-Wextra"],
      "ldflags": ["-pthread"],
      "conditions": [
        ["target_arch=='arm64'", {
          "cflags_cc": ["-ffp-contract=off"]
        }],
        ["OS=='mac'", {
          "xcode_settings": {
            "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
            "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
            "MACOSX_DEPLOYMENT_TARGET": "10.15",
            "OTHER_CPLUSPLUSFLAGS": ["-O3", "-fno-math-errno", "-Wall", "-Wextra"]
          }
        }],
        ["OS=='mac' and target_arch=='arm64'", {
          "xcode_settings": { "OTHER_CPLUSPLUSFLAGS": ["-ffp-contract=off"] }
        }]
      ]
    }
  ]
}
