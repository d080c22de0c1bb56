namespace Stress.Client;

/// <summary>The exchanges of the stress mix. Keep-alive ones share a worker's connection; the others open their own.</summary>
internal enum OperationKind
{
    /// <summary>GET /hello on the worker's keep-alive connection; the body names the connection and exchange.</summary>
    Get,

    /// <summary>GET /download of a random size (0 B – max), every byte checked.</summary>
    Download,

    /// <summary>POST /echo of a random size, sent and read back at once, every byte checked.</summary>
    Echo,

    /// <summary>POST /upload of a random size; the server's SHA-256 of it is checked.</summary>
    Upload,

    /// <summary>2–16 requests in one write; the responses must come back in order, each its own.</summary>
    Pipelined,

    /// <summary>POST /echo cut by a reset part-way through the upload (echoed bytes checked until then).</summary>
    AbortUpload,

    /// <summary>GET /download cut by a reset part-way through the response.</summary>
    AbortDownload,

    /// <summary>A request followed by FIN; the whole response must arrive, then the server's FIN.</summary>
    HalfClose,

    /// <summary>A download read a few KiB at a time through a small receive buffer.</summary>
    SlowReader,

    /// <summary>Connect and leave without a request (FIN or RST, sometimes after half a request line).</summary>
    ConnectClose,
}
