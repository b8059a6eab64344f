// Runs AWS's DynamoDB Local bound to 127.0.0.1 only (DynamoDB Local has no bind-address option).
// Single-file source launcher: `java -cp "<lib>/DynamoDBLocal.jar:<lib>/DynamoDBLocal_lib/*"
//   deploy/local/LoopbackDynamoDB.java -port P -sharedDb -disableTelemetry (-dbPath DIR | -inMemory)`.
// Started by deploy/local/stack.py; it sets the Jetty connector host before the server starts.
import java.lang.reflect.Field;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import software.amazon.dynamodb.services.local.main.ServerRunner;
import software.amazon.dynamodb.services.local.server.DynamoDBProxyServer;

public class LoopbackDynamoDB {
    public static void main(String[] args) throws Exception {
        DynamoDBProxyServer proxy = ServerRunner.createServerFromCommandLineArgs(args);
        Field field = DynamoDBProxyServer.class.getDeclaredField("server");
        field.setAccessible(true);
        Server jetty = (Server) field.get(proxy);
        for (Connector c : jetty.getConnectors()) {
            if (c instanceof ServerConnector) {
                ((ServerConnector) c).setHost("127.0.0.1");
            }
        }
        proxy.start();
        proxy.join();
    }
}
