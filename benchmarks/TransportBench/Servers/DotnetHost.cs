namespace TransportBench.Servers;

/// <summary>Finds the <c>dotnet</c> host and the repository, whichever way the runner was started.</summary>
internal static class DotnetHost
{
    /// <summary>The dotnet executable: this process when it is dotnet, the SDK's DOTNET_HOST_PATH, or PATH.</summary>
    public static string Path
    {
        get
        {
            string? self = Environment.ProcessPath;
            if (self is not null && System.IO.Path.GetFileNameWithoutExtension(self) == "dotnet")
            {
                return self;
            }
            return Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } hostPath ? hostPath : "dotnet";
        }
    }

    /// <summary>The folder holding KestrelEpollTransport.sln, searched up from the working directory and the binary.</summary>
    public static string? RepositoryRoot()
    {
        foreach (string start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(System.IO.Path.Combine(dir.FullName, "KestrelEpollTransport.sln")))
                {
                    return dir.FullName;
                }
            }
        }
        return null;
    }
}
