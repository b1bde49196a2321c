return { name = "Bad_Name", containers = { { name = "c", command = {}, resources = { limits = { memory = "9223372036854775807.5" } } } }, contianers = 1 }
