import { z } from "zod";
import { cursorSchema, jsonRecordSchema, limitSchema, pageSchemaOf, timestampSchema } from "./common.js";

/** Where a notification goes. */
export const notificationChannels = ["telegram", "webhook", "event"] as const;
/** Where a notification is in its delivery. */
export const notificationStatuses = ["pending", "sending", "sent", "failed"] as const;
/** A notification's status. */
export type NotificationStatus = (typeof notificationStatuses)[number];

/** Query of `GET /v1/notifications`. */
export const listNotificationsSchema = z
  .object({
    limit: limitSchema,
    cursor: cursorSchema.optional(),
    status: z.enum(notificationStatuses).optional(),
  })
  .strict();
/** Input of `notifications.list`. */
export type ListNotificationsInput = z.input<typeof listNotificationsSchema>;

/** A notification (an alert or a policy's `notify` action) and how its delivery went. */
export const notificationSchema = z
  .object({
    id: z.uuid(),
    channel: z.enum(notificationChannels),
    target: z.string().describe("The chat id, URL or event name it goes to."),
    payload: jsonRecordSchema.describe("What is sent."),
    status: z.enum(notificationStatuses),
    attempts: z.number().int().describe("Delivery attempts so far."),
    lastError: z.string().nullable().describe("Why the last attempt failed; null when none did."),
    createdAt: timestampSchema,
    updatedAt: timestampSchema,
    sentAt: timestampSchema.nullable(),
  })
  .meta({ id: "Notification" });
/** A notification and how its delivery went. */
export type Notification = z.infer<typeof notificationSchema>;

/** A page of notifications. */
export const notificationPageSchema = pageSchemaOf(notificationSchema, "NotificationPage");
