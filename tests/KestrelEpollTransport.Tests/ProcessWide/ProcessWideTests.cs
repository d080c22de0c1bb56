namespace KestrelEpollTransport.Tests.ProcessWide;

/// <summary>
/// Tests that count what the whole process holds (open fds, threads named epoll-loop-N). Another test's host
/// running at the same time would change the counts, so xunit runs this collection alone, after all the others.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessWideTests
{
    /// <summary>The collection's name.</summary>
    public const string Name = "Process-wide resources";
}
