namespace KestrelEpollTransport.Tests.Packaging;

/// <summary>
/// The slow tests that build the product as a user would (dotnet pack, a NativeAOT publish): minutes of both cores
/// each, so xunit runs this collection alone, after the parallel collections, and nothing else competes with them or
/// is slowed down by them.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SlowBuilds
{
    /// <summary>The collection's name.</summary>
    public const string Name = "Packaging (slow, alone)";
}
