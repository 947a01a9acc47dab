print("suifang")
