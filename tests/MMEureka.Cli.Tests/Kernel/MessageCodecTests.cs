using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using MMEureka.Cli.Kernel;

namespace MMEureka.Cli.Tests.Kernel;

public class MessageCodecTests
{
    static readonly MessageCodec Codec = new("secret-key");

    static JupyterMessage Request(string type, JsonObject content) =>
        JupyterMessage.Create(type, content, null, "client-session") with { Identities = ["client-1"u8.ToArray(), "route-2"u8.ToArray()] };

    [Fact]
    public void SignatureMatchesPythonsHmacOnTheSameBytes()
    {
        // Reference: hmac.new(b'secret-key', digestmod=hashlib.sha256) updated with the four parts, hexdigest().
        byte[][] parts =
        [
            "{\"msg_id\":\"a\",\"msg_type\":\"kernel_info_request\"}"u8.ToArray(), "{}"u8.ToArray(), "{}"u8.ToArray(),
            "{\"code\":\"1+1\"}"u8.ToArray(),
        ];
        Assert.Equal("fc3ea2c9b293c22279a7c8479166290242a4b21076744f242f4c40c5fc6a785e", Codec.Sign(parts));
    }

    [Fact]
    public void EncodedFramesAreIdentitiesDelimiterSignatureAndFourSignedParts()
    {
        var message = Request("execute_request", new JsonObject { ["code"] = "Console.WriteLine(\"é<b>\");" });
        var frames = Codec.Encode(message);
        Assert.Equal(8, frames.Count);
        Assert.Equal("client-1", Encoding.UTF8.GetString(frames[0]));
        Assert.Equal("route-2", Encoding.UTF8.GetString(frames[1]));
        Assert.Equal("<IDS|MSG>", Encoding.UTF8.GetString(frames[2]));
        var expected = Convert.ToHexStringLower(HMACSHA256.HashData("secret-key"u8.ToArray(), frames.Skip(4).SelectMany(f => f).ToArray()));
        Assert.Equal(expected, Encoding.ASCII.GetString(frames[3]));
        Assert.Equal("execute_request", JsonNode.Parse(frames[4])!["msg_type"]!.GetValue<string>());
        Assert.Equal("5.3", JsonNode.Parse(frames[4])!["version"]!.GetValue<string>());
        Assert.Equal("Console.WriteLine(\"é<b>\");", JsonNode.Parse(frames[7])!["code"]!.GetValue<string>());
    }

    [Fact]
    public void DecodeReturnsWhatWasEncoded()
    {
        var message = Request("complete_request", new JsonObject { ["code"] = "Math.", ["cursor_pos"] = 5 });
        var decoded = Codec.Decode(Codec.Encode(message));
        Assert.Equal("complete_request", decoded.Type);
        Assert.Equal(2, decoded.Identities.Count);
        Assert.Equal("route-2", Encoding.UTF8.GetString(decoded.Identities[1]));
        Assert.Equal(5, decoded.Content["cursor_pos"]!.GetValue<int>());
        Assert.Equal(message.Header["msg_id"]!.GetValue<string>(), decoded.Header["msg_id"]!.GetValue<string>());
    }

    [Fact]
    public void ReplyCarriesTheRequestAsParentAndItsRouting()
    {
        var request = Request("kernel_info_request", new JsonObject());
        var reply = JupyterMessage.Create("kernel_info_reply", new JsonObject(), request, "kernel-session");
        Assert.Equal(request.Header["msg_id"]!.GetValue<string>(), reply.ParentHeader["msg_id"]!.GetValue<string>());
        Assert.Same(request.Identities, reply.Identities);
        Assert.NotEqual(request.Header["msg_id"]!.GetValue<string>(), reply.Header["msg_id"]!.GetValue<string>());
    }

    [Theory]
    [InlineData(4)] // header
    [InlineData(5)] // parent header
    [InlineData(6)] // metadata
    [InlineData(7)] // content
    public void TamperedPartIsRefused(int frame)
    {
        var frames = Codec.Encode(Request("execute_request", new JsonObject { ["code"] = "1" }));
        var text = Encoding.UTF8.GetString(frames[frame]);
        frames[frame] = Encoding.UTF8.GetBytes(text.Insert(text.Length - 1, ",\"x\":1"));
        var e = Assert.Throws<ProtocolException>(() => Codec.Decode(frames));
        Assert.Contains("signature", e.Message);
    }

    [Fact]
    public void WrongKeyIsRefusedAndEmptyKeyChecksNothing()
    {
        var frames = new MessageCodec("other-key").Encode(Request("kernel_info_request", new JsonObject()));
        Assert.Throws<ProtocolException>(() => Codec.Decode(frames));
        var unsigned = new MessageCodec("");
        var plain = unsigned.Encode(Request("kernel_info_request", new JsonObject()));
        Assert.Empty(plain[3]);
        Assert.Equal("kernel_info_request", unsigned.Decode(plain).Type);
    }

    [Fact]
    public void MissingDelimiterOrPartsAreRefused()
    {
        var frames = Codec.Encode(Request("kernel_info_request", new JsonObject()));
        Assert.Contains("delimiter", Assert.Throws<ProtocolException>(() => Codec.Decode(frames.Where((_, i) => i != 2).ToList())).Message);
        Assert.Contains("need 5", Assert.Throws<ProtocolException>(() => Codec.Decode(frames.Take(6).ToList())).Message);
    }
}
