return { name = "web", labels = { app = "web" }, restartPolicy = "Always",
  volumes = { { name = "data", emptyDir = { medium = "Memory", sizeLimit = "8Mi" } } },
  containers = {
    { name = "app", image = "busybox", command = { "sleep", "50" }, env = { { name = "A", value = "1" } },
      resources = { limits = { cpu = "500m", memory = "64Mi" }, requests = { cpu = 0.1 } },
      volumeMounts = { { name = "data", mountPath = "/data" } }, ports = { { containerPort = 80 } } },
    { name = "side", command = { "sh", "-c", "echo $(A)" }, restartPolicy = "Always" },
  } }
