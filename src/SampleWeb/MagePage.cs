using System.Text;

namespace SampleWeb;

/// <summary>The pages the site serves, encoded once at start-up so a request only copies bytes.</summary>
internal static class MagePage
{
    /// <summary>
    /// The page of the teaching server this project grew from (a Python <c>selectors</c> server on port 9999):
    /// UTF-8, LF line ends, four-space indents, no trailing newline.
    /// </summary>
    public static readonly byte[] Html = Encoding.UTF8.GetBytes(
        "<!DOCTYPE html>\n" +
        "<html lang=\"en\">\n" +
        "<head>\n" +
        "    <meta charset=\"UTF-8\">\n" +
        "    <title>magedu</title>\n" +
        "</head>\n" +
        "<body>\n" +
        "    <h1>马哥教育www.magedu.com -- Multiplexing</h1>\n" +
        "</body>\n" +
        "</html>");

    /// <summary>TechEmpower's plaintext body.</summary>
    public static readonly byte[] Plaintext = "Hello, World!"u8.ToArray();

    /// <summary>TechEmpower's JSON body, pre-serialized.</summary>
    public static readonly byte[] Json = """{"message":"Hello, World!"}"""u8.ToArray();

    /// <summary>A 1 MiB body of printable bytes, for the large-response benchmark.</summary>
    public static readonly byte[] Large = CreateLarge(1024 * 1024);

    private static byte[] CreateLarge(int size)
    {
        var bytes = new byte[size];
        for (int i = 0; i < bytes.Length; i++)
        {
            bytes[i] = (byte)('a' + (i % 26));
        }
        return bytes;
    }
}
