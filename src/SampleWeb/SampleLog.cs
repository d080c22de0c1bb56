namespace SampleWeb;

/// <summary>The sample's own log lines (one, at start-up; nothing per request).</summary>
internal static partial class SampleLog
{
    [LoggerMessage(1, LogLevel.Information, "Transport: {Transport}; ProcessorCount {ProcessorCount}; server GC {ServerGC}; listening on {Urls}")]
    public static partial void Started(ILogger logger, string transport, int processorCount, bool serverGC, string urls);
}
