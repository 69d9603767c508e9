package io.muxgate.testing;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.util.ArrayList;
import java.util.List;

/**
 * A loopback port where TCP connects time out instead of being refused: a listening socket with
 * backlog 1 that never accepts, whose accept queue is then filled with our own connections. Linux
 * drops SYNs to a listener whose accept queue is full, so the next connect hangs until the client's
 * connect timeout. Use it to test origin connect timeouts without any non-loopback address.
 */
public final class FullAcceptQueuePort implements AutoCloseable {

    private static final int PROBE_TIMEOUT_MILLIS = 200;
    private static final int MAX_FILLERS = 16;

    private final ServerSocket listener;
    private final List<Socket> fillers = new ArrayList<>();

    private FullAcceptQueuePort(InetAddress address, int port) throws IOException {
        listener = new ServerSocket(port, 1, address);
    }

    /** Opens the listener and fills its queue; fails if the queue never filled within 16 connects. */
    public static FullAcceptQueuePort open() throws IOException {
        return open(InetAddress.getLoopbackAddress(), 0);
    }

    /**
     * {@link #open()} on {@code address} and {@code port} (0: a free one): another loopback address's
     * port of the same number, so that every address of a name is blackholed.
     */
    public static FullAcceptQueuePort open(InetAddress address, int port) throws IOException {
        FullAcceptQueuePort full = new FullAcceptQueuePort(address, port);
        try {
            full.fillAcceptQueue();
            return full;
        } catch (IOException | RuntimeException e) {
            full.close();
            throw e;
        }
    }

    public int port() {
        return listener.getLocalPort();
    }

    /** How many of our own connections the queue took before connects started timing out. */
    public int fillerConnections() {
        return fillers.size();
    }

    private void fillAcceptQueue() throws IOException {
        InetSocketAddress address = new InetSocketAddress(listener.getInetAddress(), port());
        for (int attempt = 0; attempt < MAX_FILLERS; attempt++) {
            Socket socket = new Socket();
            try {
                socket.connect(address, PROBE_TIMEOUT_MILLIS);
                fillers.add(socket);
            } catch (SocketTimeoutException full) {
                socket.close();
                return;
            }
        }
        throw new IllegalStateException("Accept queue still not full after " + MAX_FILLERS + " connections");
    }

    @Override
    public void close() throws IOException {
        for (Socket filler : fillers) {
            filler.close();
        }
        fillers.clear();
        listener.close();
    }
}
