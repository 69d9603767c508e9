# Build the jar first (mvn -DskipTests package); the image only runs it.
FROM eclipse-temurin:17-jre
COPY target/muxgate.jar /opt/muxgate/muxgate.jar
COPY conf/jvm.options /opt/muxgate/jvm.options
USER 65532:65532
EXPOSE 8080 8443 9090
ENTRYPOINT ["java", "@/opt/muxgate/jvm.options", "-jar", "/opt/muxgate/muxgate.jar"]
CMD ["--conf", "/etc/muxgate/conf/muxgate.json"]
