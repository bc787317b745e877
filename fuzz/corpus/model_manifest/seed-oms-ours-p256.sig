{
  "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
  "verificationMaterial": {
    "publicKey": {
      "hint": "6eecb994831443baa26162d2e8e40b01c8548576e25685754c1f430a572e89e6"
    },
    "tlogEntries": []
  },
  "dsseEnvelope": {
    "payload": "ewogICJfdHlwZSI6ICJodHRwczovL2luLXRvdG8uaW8vU3RhdGVtZW50L3YxIiwKICAic3ViamVjdCI6IFsKICAgIHsKICAgICAgIm5hbWUiOiAiZm9ybWF0LWV4YW1wbGUiLAogICAgICAiZGlnZXN0IjogewogICAgICAgICJzaGEyNTYiOiAiZjQ1MmZjZWYxMmE5YmIxMjBjNDExYjYzM2Q5YjdlMjhiYWMyMTZmNTBkM2ZkNmExZDMxODI0MmVmODJiMDYyOSIKICAgICAgfQogICAgfQogIF0sCiAgInByZWRpY2F0ZVR5cGUiOiAiaHR0cHM6Ly9tb2RlbF9zaWduaW5nL3NpZ25hdHVyZS92MS4wIiwKICAicHJlZGljYXRlIjogewogICAgInNlcmlhbGl6YXRpb24iOiB7CiAgICAgICJtZXRob2QiOiAiZmlsZXMiLAogICAgICAiaGFzaF90eXBlIjogInNoYTI1NiIsCiAgICAgICJhbGxvd19zeW1saW5rcyI6IGZhbHNlLAogICAgICAiaWdub3JlX3BhdGhzIjogW10KICAgIH0sCiAgICAicmVzb3VyY2VzIjogWwogICAgICB7CiAgICAgICAgIm5hbWUiOiAiY29uZmlnLmpzb24iLAogICAgICAgICJhbGdvcml0aG0iOiAic2hhMjU2IiwKICAgICAgICAiZGlnZXN0IjogIjAxM2U5M2MxY2MzOTc1NDE5NjFlNjcwZjg0ZWEwZDQyNzg0NTM2Y2FiNGU5ZDNjNWQ1YjEzNTg5ZjUzYWI2ODQiLAogICAgICAgICJzaXplIjogMjMKICAgICAgfSwKICAgICAgewogICAgICAgICJuYW1lIjogIm1vZGVsLnNhZmV0ZW5zb3JzIiwKICAgICAgICAiYWxnb3JpdGhtIjogInNoYTI1NiIsCiAgICAgICAgImRpZ2VzdCI6ICIwY2U0YTA5NTIxNWQ3MzIyNDcxZDNjNmYzOWNiZGQyYzFlMzU4YjZiNmU0M2FmODE5M2Y2ZTUyYjJkNWEzNDk4IiwKICAgICAgICAic2l6ZSI6IDcwCiAgICAgIH0KICAgIF0sCiAgICAibWFuaWZlc3RfdmVyc2lvbiI6IDEsCiAgICAicmV2aXNpb24iOiAicjEiCiAgfQp9Cg==",
    "payloadType": "application/vnd.in-toto+json",
    "signatures": [
      {
        "sig": "MEUCIQC5SPqvLra0hNONx+zDc1kx99H9muiwp0AccbD88jdtXgIgGkA3t4LZgXDa9VkB+Cvnbc7TdaRyAUCJhzOJyXautTE=",
        "keyid": ""
      }
    ]
  }
}
