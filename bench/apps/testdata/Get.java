import java.io.InputStream;
import java.net.HttpURLConnection;
import java.net.URL;

// Get does one HTTP GET of its argument and prints the status and the body's size.
public class Get {
    public static void main(String[] args) throws Exception {
        HttpURLConnection c = (HttpURLConnection) new URL(args[0]).openConnection();
        c.setConnectTimeout(10000);
        c.setReadTimeout(10000);
        int status = c.getResponseCode();
        long n = 0;
        try (InputStream in = c.getInputStream()) {
            byte[] buf = new byte[8192];
            for (int r; (r = in.read(buf)) > 0; ) n += r;
        }
        System.out.println(status + " " + n + " bytes");
        if (status != 200) System.exit(1);
    }
}
